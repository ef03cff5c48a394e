//! Session IDs are bearer tokens: a forked child must never repeat its parent's.

use sessmgr::Registry;

#[test]
fn a_forked_child_does_not_repeat_its_parents_ids() {
    let registry = Registry::new();
    // Warm this thread's generator, so that the child inherits its state.
    registry.create(None).unwrap();
    let mut fds = [0i32; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // The child: one ID to the pipe, then leave at once.
        let id = registry
            .create(None)
            .map(|id| id.to_string())
            .unwrap_or_default();
        unsafe {
            libc::write(fds[1], id.as_ptr().cast(), id.len());
            libc::_exit(0);
        }
    }
    let parent_id = registry.create(None).unwrap().to_string();
    let mut buffer = [0u8; 32];
    let read = unsafe { libc::read(fds[0], buffer.as_mut_ptr().cast(), buffer.len()) };
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(read, 32, "the child wrote no ID");
    let child_id = std::str::from_utf8(&buffer).unwrap();
    assert_ne!(
        child_id, parent_id,
        "the child repeated the parent's next ID"
    );
}

#[test]
fn ids_are_distinct_across_threads() {
    let registry = Registry::new();
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..2000)
                        .map(|_| registry.create(None).unwrap().to_string())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        assert_eq!(&id[12..13], "4", "v4: {id}");
    }
}
