// Build: c++ -std=c++17 quickstart.cpp $(pkg-config --cflags --libs sessmgr) -o quickstart
#include <iostream>
#include <sessmgr.hpp>

int main() {
    try {
        sessmgr::Session web = sessmgr::Session::create();  // a web guest, closed at scope end
        web.set_privileges(R"({"privileges":["WebAdmin"],"userName":"ann"})");
        web.set_identifier("ann@kiosk-3");
        web.storage_set("/cart", "[]");
        web.storage_update([](const std::string &current) {  // atomic read-modify-write
            return current == R"({"cart":[]})" ? std::string(R"({"cart":[42]})") : std::string();
        });
        std::cout << "admin=" << (web.has_privilege("WebAdmin") ? "yes" : "no")
                  << " storage=" << web.storage_get() << '\n';
    } catch (const sessmgr::Error &e) {
        std::cerr << "status " << e.status() << ": " << e.what() << '\n';
        return 1;
    }
    return 0;
}
