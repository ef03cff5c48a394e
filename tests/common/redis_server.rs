//! A real `redis-server` for a test: started on a free loopback port in a directory of its
//! own, stopped (killed) when dropped. With `appendonly`, what it holds survives a restart.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Arguments after the server's own (`--replicaof …`).
    extra: Vec<String>,
    /// A Sentinel watching the primary on this port, as `service`.
    sentinel: Option<(u16, String)>,
}

impl RedisServer {
    /// A server with the append-only file on (fsync always): a restart finds every write.
    pub fn start() -> RedisServer {
        RedisServer::start_as(Vec::new(), None)
    }

    /// A replica of the server on `primary`'s port (append-only file on, as a primary's).
    #[allow(dead_code)]
    pub fn replica_of(primary: u16) -> RedisServer {
        let extra = vec![
            "--replicaof".into(),
            "127.0.0.1".into(),
            primary.to_string(),
        ];
        RedisServer::start_as(extra, None)
    }

    /// A server that asks for `password` (`requirepass`); [`RedisServer::url`] carries it.
    #[allow(dead_code)]
    pub fn with_password(password: &str) -> RedisServer {
        RedisServer::start_as(vec!["--requirepass".into(), password.into()], None)
    }

    /// A server that also listens with TLS (no client certificate asked) with the
    /// certificate and key `cert`, `key` signed by `ca`: the server, and its TLS port.
    #[allow(dead_code)]
    pub fn with_tls(
        cert: &std::path::Path,
        key: &std::path::Path,
        ca: &std::path::Path,
    ) -> (RedisServer, u16) {
        let tls_port = free_port();
        let path = |p: &std::path::Path| p.display().to_string();
        let extra = vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            path(cert),
            "--tls-key-file".into(),
            path(key),
            "--tls-ca-cert-file".into(),
            path(ca),
            "--tls-auth-clients".into(),
            "no".into(),
        ];
        (RedisServer::start_as(extra, None), tls_port)
    }

    /// A Sentinel watching the primary on `primary`'s port as `service`: it calls it down
    /// after 1 s without an answer, and two Sentinels must agree.
    #[allow(dead_code)]
    pub fn sentinel(primary: u16, service: &str) -> RedisServer {
        RedisServer::start_as(Vec::new(), Some((primary, service.to_owned())))
    }

    fn start_as(extra: Vec<String>, sentinel: Option<(u16, String)>) -> RedisServer {
        super::machine::prepare();
        // A port found free may be taken before the server binds it (by a connection's local
        // port, or another test's server): the server then exits, and another port is tried.
        for _ in 0..10 {
            let port = free_port();
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("redis-{port}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let mut server = RedisServer {
                port,
                dir,
                child: None,
                extra: extra.clone(),
                sentinel: sentinel.clone(),
            };
            if server.started() {
                return server;
            }
        }
        panic!("redis-server did not start on any of 10 free ports");
    }

    pub fn url(&self) -> String {
        let password = self
            .extra
            .iter()
            .position(|a| a == "--requirepass")
            .map(|at| format!(":{}@", self.extra[at + 1]))
            .unwrap_or_default();
        format!("redis://{password}127.0.0.1:{}/0", self.port)
    }

    /// `store` configuration for this server, under `prefix`.
    pub fn store(&self, prefix: &str) -> String {
        self.store_waiting(prefix, 1000)
    }

    /// As [`RedisServer::store`], with `timeoutMs` at `timeout_ms` (for programs under a
    /// memory checker, tens of times slower, on a machine that may be busy).
    #[allow(dead_code)]
    pub fn store_waiting(&self, prefix: &str, timeout_ms: u64) -> String {
        format!(
            r#"{{"store": {{"kind": "redis", "url": "{}", "prefix": "{prefix}", "timeoutMs": {timeout_ms}}}}}"#,
            self.url()
        )
    }

    /// Starts the server again, after [`RedisServer::stop`], on its port, and waits until it
    /// answers.
    pub fn restart(&mut self) {
        assert!(self.started(), "redis-server on port {} exited", self.port);
    }

    /// Starts the server and waits until it answers (true) or exits (false: its port was
    /// taken).
    fn started(&mut self) -> bool {
        assert!(self.child.is_none(), "already running");
        let mut command = Command::new("redis-server");
        if let Some((primary, service)) = &self.sentinel {
            // A Sentinel rewrites its configuration file: one of its own.
            let conf = self.dir.join("sentinel.conf");
            std::fs::write(
                &conf,
                format!(
                    "sentinel monitor {service} 127.0.0.1 {primary} 2\n\
                     sentinel down-after-milliseconds {service} 1000\n\
                     sentinel failover-timeout {service} 5000\n\
                     sentinel parallel-syncs {service} 1\n"
                ),
            )
            .unwrap();
            command.arg(&conf).arg("--sentinel");
        }
        command.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"]);
        if self.sentinel.is_none() {
            command.args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ]);
        }
        let child = command
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let ours = format!("process_id:{}\r\n", child.id());
        self.child = Some(child);
        let started = Instant::now();
        loop {
            // The server answering on the port must be this one, not another test's, and done
            // loading its append-only file (INFO answers while it loads; PING does not).
            if let Ok(mut c) = redis::Client::open(self.url()).and_then(|c| c.get_connection())
                && redis::cmd("INFO")
                    .query::<String>(&mut c)
                    .is_ok_and(|info| info.contains(&ours))
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return true;
            }
            if let Some(child) = &mut self.child
                && child.try_wait().unwrap().is_some()
            {
                self.child = None;
                return false;
            }
            assert!(
                // A start takes milliseconds; this bound only turns a failure into a message.
                started.elapsed() < Duration::from_secs(60),
                "redis-server on port {} did not answer",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: what the append-only file has, it keeps).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server's process (SIGSTOP) until [`RedisServer::thaw`]: alive, its sockets
    /// open, answering nothing, however long a test takes meanwhile.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        let child = self.child.as_ref().expect("the server is running");
        // SAFETY: kill has no memory preconditions; the pid is our own child's, not reaped.
        let sent = unsafe { libc::kill(child.id() as i32, signal) };
        assert_eq!(sent, 0, "kill({}, {signal})", child.id());
    }

    /// A direct connection, to look at what the store wrote.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A barrier between processes: `parties` callers in all (threads of several test processes),
/// each with its own connection to the test's Redis, return from `arrive` together: each adds
/// itself to the counter `key` (its own key per round) and waits until all have. A party that
/// never comes (its process failed) fails the others after a minute, instead of hanging.
pub fn arrive(connection: &mut redis::Connection, key: &str, parties: u64) {
    let here: u64 = redis::cmd("INCR").arg(key).query(connection).unwrap();
    let started = Instant::now();
    let mut there = here;
    while there < parties {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{key}: {there} of {parties} parties came"
        );
        std::thread::yield_now();
        there = redis::cmd("GET").arg(key).query(connection).unwrap();
    }
}

/// The key part under which the Redis store keeps the session `id` (`s:{key}`, its member in
/// `live`, the value of `c:{n}`), derived here as docs/redis.md says: the first 16 bytes of
/// SHA-256 of `"sessmgr session key\0"` and the ID's 16 bytes, as 32 lowercase hex digits.
#[allow(dead_code)]
pub fn session_key(id: sessmgr::SessionId) -> String {
    use sha2::{Digest, Sha256};
    let bytes = u128::from_str_radix(&id.to_string(), 16)
        .unwrap()
        .to_be_bytes();
    let hash = Sha256::new()
        .chain_update(b"sessmgr session key\0")
        .chain_update(bytes)
        .finalize();
    hash[..16].iter().map(|b| format!("{b:02x}")).collect()
}
