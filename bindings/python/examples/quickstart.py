import sessmgr

with sessmgr.create_session() as web:  # a web guest, closed at the end of the block
    web.set_privileges({"privileges": ["WebAdmin"], "userName": "ann"})
    web.identifier = "ann@kiosk-3"  # what administrators see
    with web.storage.use() as storage:  # atomic read-modify-write
        storage["cart"] = storage.get("cart", []) + [42]
    print("admin=" + ("yes" if web.has_privilege("WebAdmin") else "no"), "storage=" + str(web.storage.value()))
