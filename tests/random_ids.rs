//! Session IDs are bearer tokens: a forked child must never repeat its parent's.

mod common;

use std::sync::Mutex;

use common::race::{Role, race};
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

/// 4 threads create sessions at once (2,000 each at least, 500 of them while another thread's
/// creation finished): no ID twice.
#[test]
fn ids_are_distinct_across_threads() {
    let registry = Registry::new();
    let ids: Vec<Mutex<Vec<String>>> = (0..4).map(|_| Mutex::new(Vec::new())).collect();
    let create = |t: usize, _| {
        let id = registry.create(None).unwrap().to_string();
        ids[t].lock().unwrap().push(id);
    };
    race(&[Role::new("creator", 4, &create)
        .rounds(2000)
        .overlapped(500)]);
    let ids: Vec<String> = ids
        .into_iter()
        .flat_map(|mine| mine.into_inner().unwrap())
        .collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        assert_eq!(&id[12..13], "4", "v4: {id}");
    }
}
