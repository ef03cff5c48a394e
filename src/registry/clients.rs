//! What FileMaker's Admin Console and Admin API do to a client, named by its client number
//! (never by its session ID): send it a message, disconnect it.

use super::Registry;
use super::{Reads, Recall, Target};
use crate::client::{MAX_MESSAGES, Message, check_message, messages_json};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{CloseReason, Detail, EventKind};
use crate::id::SessionId;
use crate::session::SessionState;

/// The longest grace time of a disconnection: a day.
pub(crate) const MAX_DISCONNECT_GRACE_SECONDS: u32 = 86_400;

fn client_not_found(client: u64) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no live client has the number {client}"),
    )
}

impl Registry {
    /// A session's client number.
    pub fn client_id(&self, id: SessionId) -> Result<u64> {
        self.read(id, |s| Ok(s.client_id))
    }

    /// Runs `op` on the session of a client number; `NotFound` (naming the number) if no live
    /// session has it. A rotation between finding the session and `op` is followed.
    fn on_client<R>(&self, client: u64, op: impl Fn(Target) -> Result<R>) -> Result<R> {
        if client == 0 {
            return Err(Error::invalid("client number 0: client numbers start at 1"));
        }
        let _scope = self.scope();
        loop {
            let target = self
                .client_session(client)?
                .ok_or_else(|| client_not_found(client))?;
            match op(target) {
                Err(e) if e.kind == ErrorKind::NotFound => {
                    if self.client_session(client)?.is_none_or(|now| now == target) {
                        return Err(client_not_found(client));
                    }
                }
                other => return other,
            }
        }
    }

    /// Queues a message for a client, which the host takes with [`Registry::take_messages`]
    /// to show it; at most [`MAX_MESSAGES`] wait (`LimitExceeded` beyond).
    pub fn send_message(&self, client: u64, text: &str) -> Result<()> {
        check_message(text)?;
        self.on_client(client, |target| {
            self.access_as(target, Recall::No, Reads::Session, |a| {
                let time = a.now();
                let messages = &mut a.session.extras_mut().messages;
                if messages.len() >= MAX_MESSAGES {
                    return Err(Error::limit(format!(
                        "client {client} has {MAX_MESSAGES} messages waiting, the most a client \
                         keeps: the host takes them with take_messages"
                    )));
                }
                messages.push_back(Message {
                    time,
                    text: text.to_owned(),
                    disconnect_at: None,
                });
                Ok(())
            })
        })
    }

    /// `{"messages": [{"time", "text", "disconnectAt"?}, …]}`: the messages waiting for the
    /// session's client, oldest first, each handed out once. Not activity.
    pub fn take_messages(&self, id: SessionId) -> Result<String> {
        self.access(id, |a| {
            Ok(match a.session.extras.as_deref_mut() {
                Some(extras) => {
                    let json = messages_json(extras.messages.iter());
                    extras.messages.clear();
                    json
                }
                None => messages_json(std::iter::empty()),
            })
        })
    }

    /// FileMaker's *Disconnect client*: queues `message` (if any) for the client and closes its
    /// session once `grace_seconds` have passed (0: at once, and the message goes nowhere).
    /// Meanwhile the session works as before, its state is `disconnecting`, and activity does
    /// not put the end off; a second disconnection can only bring it closer.
    pub fn disconnect(&self, client: u64, message: Option<&str>, grace_seconds: u32) -> Result<()> {
        if let Some(text) = message {
            check_message(text)?;
        }
        if grace_seconds > MAX_DISCONNECT_GRACE_SECONDS {
            return Err(Error::invalid(format!(
                "a grace time of {grace_seconds} seconds is out of range (0 to \
                 {MAX_DISCONNECT_GRACE_SECONDS})"
            )));
        }
        self.on_client(client, |target| {
            if grace_seconds == 0 {
                return self.end_at(target, CloseReason::Disconnected);
            }
            self.change_at(target, |a| {
                let time = a.now();
                let due = time.saturating_add(i64::from(grace_seconds) * 1000);
                let due = a.session.disconnect_at().map_or(due, |at| at.min(due));
                let extras = a.session.extras_mut();
                extras.disconnect_at = Some(due);
                if let Some(text) = message {
                    // The notice of a disconnection matters more than the oldest message.
                    if extras.messages.len() >= MAX_MESSAGES {
                        extras.messages.pop_front();
                    }
                    extras.messages.push_back(Message {
                        time,
                        text: text.to_owned(),
                        disconnect_at: Some(due),
                    });
                }
                let old = a.session.state;
                a.session.state = SessionState::Disconnecting;
                if old != SessionState::Disconnecting {
                    self.core
                        .emit(EventKind::StateChanged, &a.session, a.now(), || {
                            Detail::Changed {
                                old: old.name().to_owned(),
                                new: SessionState::Disconnecting.name().to_owned(),
                            }
                        });
                }
                Ok(())
            })?;
            // The end may now come before where the sweep's index has the session.
            self.core.local.refile(target, self.now());
            Ok(())
        })
    }
}
