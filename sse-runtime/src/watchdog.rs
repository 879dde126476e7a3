//! The watchdog: shuts a stream's connection down when its client has
//! stopped taking bytes for the write timeout, or when a server stop's
//! drain deadline passes.
//!
//! It cannot be a timer inside the body: actix does not poll a body whose
//! connection's write buffer is full, which is exactly the situation to
//! detect (see `socket.rs`). So it is a task beside the bodies: one per
//! worker thread (per actix `System` on that thread, which tests have
//! several of), watching every stream of the thread. A task per stream,
//! as this was first built, cost ≈ 0.9 KB per idle stream (its task,
//! future and timer); a stream's entry in the thread's list, with the
//! stall stamp, costs ≈ 0.35 KB (the fan-out benchmark with
//! `SSE_FANOUT_HARDENED=1`). The list reuses its slots and keeps the size
//! of its busiest moment.
//!
//! The measure of "stalled" needs no system call: the body stamps the time
//! when it hands actix a chunk and clears the stamp when actix asks for the
//! next one. actix asks again at once unless its write buffer is full, i.e.
//! unless the socket did not take the bytes; so a stamp that stays is the
//! age of the stall. One clock read per chunk (chunks coalesce every ready
//! event) is the whole cost on the fast path.
//!
//! **When the task looks.** After each look it sleeps until the earliest
//! moment a stall could reach its timeout: `since + timeout` for a stream
//! whose stamp is set, `now + timeout` for one whose is not, since a stall
//! that starts after this look ends later than that. A stream registered
//! with a shorter timeout than the planned sleep nudges the task to plan
//! again. So each stall is acted on at exactly its deadline, at the cost of
//! one pass over the thread's streams per look.
//!
//! **Stop.** Once a server stop begins, every watched connection gets the
//! drain deadline: the task waits for each to close and shuts down those
//! still open when it passes, then gives actix a moment to drop them, so
//! that actix's own stop finds no connection left. A stream that ends
//! during a stop stays watched for that; one that ends before does not.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::{Rc, Weak};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};

use crate::connection::Place;
use crate::lifecycle::{StopSignal, WatchTicket};
use crate::socket::Handle;

/// Shared by a body and the watchdog: since when the body's last chunk has
/// been waiting for actix to come back (`None`: it came back), and whether
/// the watchdog closed the connection for it (the body's end reason).
#[derive(Default)]
pub(crate) struct Stall(Cell<Option<Instant>>, Cell<bool>);

impl Stall {
    /// The body handed a chunk to actix.
    pub(crate) fn chunk_out(&self, at: Instant) {
        self.0.set(Some(at));
    }

    /// actix asked the body for more: the socket took the last chunk.
    pub(crate) fn asked_again(&self) {
        self.0.set(None);
    }

    /// Whether the watchdog closed the connection for the write timeout.
    pub(crate) fn timed_out(&self) -> bool {
        self.1.get()
    }
}

/// A stream's place under watch. Dropping it ends the watch, unless a
/// server stop is under way: the connection then stays watched until it
/// closes or its drain deadline passes.
pub(crate) struct Watchdog(Option<(Rc<Watchlist>, usize)>);

impl Watchdog {
    /// Watches `socket` for the stream that shares `stall`.
    pub(crate) fn watch(
        socket: &Rc<Handle>,
        stall: Rc<Stall>,
        write_timeout: Option<Duration>,
        drain: Duration,
        stop: StopSignal,
        place: Place,
    ) -> Watchdog {
        let watched = Watched {
            socket: socket.downgrade(),
            stall,
            write_timeout,
            drain,
            place,
            ticket: Some(stop.watch()),
            released: false,
        };
        let list = (!stop.is_stopping())
            .then(|| Watchlist::of_thread(&stop))
            .filter(|list| !list.draining.get());
        let Some(list) = list else {
            // Opened while a stop is under way: only the drain applies.
            if let Some(drain) = watched.into_drain() {
                actix_rt::spawn(drain);
            }
            return Watchdog(None);
        };
        let first_look = write_timeout.map(|timeout| Instant::now() + timeout);
        let key = list.insert(watched);
        if let Some(at) = first_look
            && list.next_look.get().is_none_or(|next| at < next)
        {
            list.next_look.set(Some(at));
            list.nudge.notify_one();
        }
        Watchdog(Some((list, key)))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some((list, key)) = self.0.take() {
            list.release(key);
        }
    }
}

/// The streams one thread's watchdog task watches for one server.
struct Watchlist {
    stop: StopSignal,
    /// Slots; a stream's key is its index, free while its slot is `None`.
    entries: RefCell<Vec<Option<Watched>>>,
    free: RefCell<Vec<usize>>,
    /// When the task looks next (`None`: only when nudged).
    next_look: Cell<Option<Instant>>,
    /// Asks the task to plan again: a stream came whose first possible
    /// deadline is before `next_look`.
    nudge: Notify,
    /// The stop has begun and the task has handed its streams to the drain.
    draining: Cell<bool>,
}

thread_local! {
    /// This thread's watchlists, one per server (`StopSignal`).
    static LISTS: RefCell<Vec<Weak<Watchlist>>> = const { RefCell::new(Vec::new()) };
}

impl Watchlist {
    /// This thread's list for `stop`'s server; made, with its task, at the
    /// first stream.
    fn of_thread(stop: &StopSignal) -> Rc<Watchlist> {
        LISTS.with(|lists| {
            let mut lists = lists.borrow_mut();
            lists.retain(|list| list.strong_count() > 0);
            if let Some(list) = lists
                .iter()
                .filter_map(Weak::upgrade)
                .find(|list| list.stop.same_server(stop))
            {
                return list;
            }
            let list = Rc::new(Watchlist {
                stop: stop.clone(),
                entries: RefCell::default(),
                free: RefCell::default(),
                next_look: Cell::new(None),
                nudge: Notify::new(),
                draining: Cell::new(false),
            });
            lists.push(Rc::downgrade(&list));
            actix_rt::spawn(list.clone().run());
            list
        })
    }

    fn insert(&self, watched: Watched) -> usize {
        let mut entries = self.entries.borrow_mut();
        match self.free.borrow_mut().pop() {
            Some(key) => {
                entries[key] = Some(watched);
                key
            }
            None => {
                entries.push(Some(watched));
                entries.len() - 1
            }
        }
    }

    /// The stream of `key` ended. During a stop whose drain has not taken
    /// the connection yet, it stays for the drain; otherwise it goes.
    fn release(&self, key: usize) {
        let mut entries = self.entries.borrow_mut();
        let Some(watched) = entries.get_mut(key).and_then(Option::as_mut) else {
            return;
        };
        if self.stop.is_stopping() && !self.draining.get() && watched.ticket.is_some() {
            watched.released = true;
            return;
        }
        entries[key] = None;
        self.free.borrow_mut().push(key);
    }

    /// Closes the connections whose stall has reached its timeout; returns
    /// when the next one could.
    fn look(&self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for watched in self.entries.borrow_mut().iter_mut().flatten() {
            let Some(timeout) = watched.write_timeout else {
                continue;
            };
            if watched.ticket.is_none() {
                continue;
            }
            let due = watched.stall.0.get().unwrap_or(now) + timeout;
            if due <= now {
                watched.time_out(timeout);
            } else {
                next = Some(next.map_or(due, |next| next.min(due)));
            }
        }
        next
    }

    /// Watches until the server stops, then sees every connection through
    /// its drain deadline.
    async fn run(self: Rc<Self>) {
        let stop = self.stop.clone();
        let stopping = stop.wait();
        tokio::pin!(stopping);
        loop {
            let next = self.look(Instant::now());
            self.next_look.set(next);
            // With nothing to time, a sleep that a nudge or the stop ends.
            let wake = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                () = &mut stopping => break,
                () = self.nudge.notified() => {}
                () = sleep_until(wake) => {}
            }
        }
        let mut drains = FuturesUnordered::new();
        {
            self.draining.set(true);
            let mut entries = self.entries.borrow_mut();
            let mut free = self.free.borrow_mut();
            for (key, slot) in entries.iter_mut().enumerate() {
                let Some(watched) = slot else { continue };
                let released = watched.released;
                if let Some(drain) = watched.take_drain() {
                    drains.push(drain);
                }
                if released {
                    *slot = None;
                    free.push(key);
                }
            }
        }
        while drains.next().await.is_some() {}
    }
}

/// One watched stream's connection.
struct Watched {
    socket: Weak<Handle>,
    stall: Rc<Stall>,
    write_timeout: Option<Duration>,
    drain: Duration,
    place: Place,
    /// Counts the watch in the server's registry; `None` once it is over
    /// (timed out, or handed to the drain).
    ticket: Option<WatchTicket>,
    /// The stream ended during a stop; kept for the drain only.
    released: bool,
}

impl Watched {
    fn time_out(&mut self, timeout: Duration) {
        self.stall.1.set(true);
        abort(
            &self.socket,
            &self.place,
            format_args!(
                "SSE client took no bytes within the write timeout ({timeout:?}); closing its connection"
            ),
        );
        self.ticket = None;
    }

    /// The drain of this connection, if it is still watched; it is not
    /// watched for the write timeout any more.
    fn take_drain(&mut self) -> Option<impl Future<Output = ()> + use<>> {
        let ticket = self.ticket.take()?;
        Some(drain(
            self.socket.clone(),
            self.drain,
            self.place.clone(),
            ticket,
        ))
    }

    fn into_drain(mut self) -> Option<impl Future<Output = ()>> {
        self.take_drain()
    }
}

/// How long a drain that shut its connection down waits for actix to drop
/// it. actix's read and write fail at once after the shutdown, so this is
/// normally a turn of the worker's event loop; the bound only keeps a
/// connection that lingers anyway from holding the stop.
const DROP_AFTER_SHUTDOWN: Duration = Duration::from_millis(250);

/// Waits for the connection to close; shuts it down if it is still open
/// after `deadline`, then waits (briefly) for actix to drop it. The ticket
/// keeps the server's stop waiting until then: a graceful actix stop that
/// finds any connection still open looks again only a second later, so
/// releasing the stop at the shutdown itself, before actix has noticed it,
/// made about one stop in two take that extra second.
async fn drain(socket: Weak<Handle>, deadline: Duration, place: Place, _ticket: WatchTicket) {
    // Not keeping the handle: its drop is the close waited for.
    let Some(closed) = socket.upgrade().map(|handle| handle.closed()) else {
        return;
    };
    let closed = closed.notified();
    tokio::pin!(closed);
    // Registered before the check, so a close in between still wakes us.
    closed.as_mut().enable();
    if socket.strong_count() == 0 {
        return;
    }
    tokio::select! {
        () = closed.as_mut() => {}
        () = tokio::time::sleep(deadline) => {
            // The client did not take the stream's last bytes.
            abort(
                &socket,
                &place,
                format_args!(
                    "SSE connection still open after the stop's drain deadline ({deadline:?}); closing it"
                ),
            );
            // The handle goes with the connection: its drop is actix done.
            let _ = tokio::time::timeout(DROP_AFTER_SHUTDOWN, closed).await;
        }
    }
}

fn abort(socket: &Weak<Handle>, place: &Place, why: std::fmt::Arguments<'_>) {
    if let Some(socket) = socket.upgrade() {
        tracing::warn!(route = &*place.route, peer = ?place.peer, "{why}");
        socket.abort();
    }
}

#[cfg(test)]
mod tests {
    //! The watchdog alone, on real loopback sockets (without the kernel's
    //! `TCP_USER_TIMEOUT`, which the server also sets and which would hide
    //! what the watchdog does) and tokio's paused clock.

    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;

    use super::*;
    use crate::lifecycle::Streams;

    /// A watched connection: the handle on the server's end, the client's
    /// end, and the stall stamp its body would keep.
    struct Conn {
        handle: Rc<Handle>,
        client: TcpStream,
        stall: Rc<Stall>,
    }

    fn conn() -> Conn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        Conn {
            handle: Handle::for_test(socket2::Socket::from(server)),
            client,
            stall: Rc::default(),
        }
    }

    fn watch(conn: &Conn, timeout: Option<Duration>, stop: &StopSignal) -> Watchdog {
        Watchdog::watch(
            &conn.handle,
            conn.stall.clone(),
            timeout,
            Duration::from_millis(200),
            stop.clone(),
            Place {
                route: Rc::from("/t"),
                peer: None,
            },
        )
    }

    /// Whether the server shut the client's connection down.
    fn shut(conn: &mut Conn) -> bool {
        conn.client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut byte = [0u8; 1];
        match conn.client.read(&mut byte) {
            Ok(n) => n == 0,
            // A timeout means still open.
            Err(err) => !matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// Whether the client's connection is still open (nothing to read yet).
    fn still_open(conn: &Conn) -> bool {
        conn.client.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let open = matches!(
            (&conn.client).read(&mut byte),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock
        );
        conn.client.set_nonblocking(false).unwrap();
        open
    }

    /// Runs `test` on an actix System with tokio's clock paused.
    fn paused(test: impl Future<Output = ()>) {
        actix_rt::System::new().block_on(async {
            tokio::time::pause();
            test.await;
        });
    }

    /// Lets the watchdog task run at the current (paused) time.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn a_stall_is_acted_on_at_its_deadline_and_not_before() {
        paused(async {
            let stop = Arc::new(Streams::default()).stop_signal();
            let mut conn = conn();
            let _watch = watch(&conn, Some(Duration::from_millis(300)), &stop);
            settle().await;
            conn.stall.chunk_out(Instant::now());
            tokio::time::advance(Duration::from_millis(299)).await;
            settle().await;
            assert!(!conn.stall.timed_out(), "closed before the deadline");
            // tokio's timers fire on the millisecond tick after the deadline.
            tokio::time::advance(Duration::from_millis(2)).await;
            settle().await;
            assert!(conn.stall.timed_out(), "not closed at the deadline");
            assert!(shut(&mut conn));
        });
    }

    #[test]
    fn a_stall_that_ended_is_forgotten() {
        paused(async {
            let stop = Arc::new(Streams::default()).stop_signal();
            let conn = conn();
            let _watch = watch(&conn, Some(Duration::from_millis(300)), &stop);
            settle().await;
            conn.stall.chunk_out(Instant::now());
            tokio::time::advance(Duration::from_millis(200)).await;
            conn.stall.asked_again();
            tokio::time::advance(Duration::from_millis(200)).await;
            settle().await;
            assert!(!conn.stall.timed_out());
            // A new stall counts from its own start.
            conn.stall.chunk_out(Instant::now());
            tokio::time::advance(Duration::from_millis(299)).await;
            settle().await;
            assert!(!conn.stall.timed_out());
            tokio::time::advance(Duration::from_millis(2)).await;
            settle().await;
            assert!(conn.stall.timed_out());
        });
    }

    /// One task watches every stream of the thread: a short timeout that
    /// comes after a long one makes it plan again.
    #[test]
    fn a_shorter_timeout_registered_later_is_kept_to() {
        paused(async {
            let stop = Arc::new(Streams::default()).stop_signal();
            let long = conn();
            let _long = watch(&long, Some(Duration::from_secs(30)), &stop);
            settle().await;
            // The task now sleeps until 30 s from here.
            tokio::time::advance(Duration::from_millis(100)).await;
            let mut short = conn();
            let _short = watch(&short, Some(Duration::from_millis(300)), &stop);
            short.stall.chunk_out(Instant::now());
            long.stall.chunk_out(Instant::now());
            tokio::time::advance(Duration::from_millis(302)).await;
            settle().await;
            assert!(
                short.stall.timed_out(),
                "the short timeout waited for the long one"
            );
            assert!(shut(&mut short));
            assert!(!long.stall.timed_out());
        });
    }

    #[test]
    fn a_stream_that_ended_is_not_watched() {
        paused(async {
            let stop = Arc::new(Streams::default()).stop_signal();
            let conn = conn();
            let watch = watch(&conn, Some(Duration::from_millis(300)), &stop);
            settle().await;
            conn.stall.chunk_out(Instant::now());
            drop(watch);
            tokio::time::advance(Duration::from_secs(1)).await;
            settle().await;
            assert!(!conn.stall.timed_out());
        });
    }

    /// A drain that shuts its connection down keeps the stop waiting until
    /// actix has dropped the connection (its handle), and no longer than
    /// `DROP_AFTER_SHUTDOWN` if it does not.
    #[test]
    fn a_drain_ends_when_the_shut_connection_is_dropped() {
        paused(async {
            let streams = Arc::new(Streams::default());
            let stop = streams.stop_signal();
            let place = || Place {
                route: Rc::from("/t"),
                peer: None,
            };
            let dropped = Rc::new(Cell::new(false));
            let lingering = Rc::new(Cell::new(false));
            let kept = conn();
            let mut conn = conn();
            let deadline = Duration::from_millis(200);
            for (conn, done) in [(&conn, &dropped), (&kept, &lingering)] {
                let drain = drain(conn.handle.downgrade(), deadline, place(), stop.watch());
                let done = done.clone();
                actix_rt::spawn(async move {
                    drain.await;
                    done.set(true);
                });
            }
            settle().await;
            tokio::time::advance(Duration::from_millis(201)).await;
            settle().await;
            assert!(shut(&mut conn), "not shut down at the deadline");
            assert!(
                !dropped.get(),
                "the stop was released before actix dropped the connection"
            );
            let Conn { handle, .. } = conn;
            drop(handle);
            settle().await;
            assert!(dropped.get(), "the drop did not end the drain");
            assert!(!lingering.get());
            tokio::time::advance(DROP_AFTER_SHUTDOWN - Duration::from_millis(5)).await;
            settle().await;
            assert!(!lingering.get(), "released before the bound");
            // tokio's timers fire on the millisecond tick after the deadline.
            tokio::time::advance(Duration::from_millis(7)).await;
            settle().await;
            assert!(lingering.get(), "a lingering connection held the stop");
        });
    }

    /// After a stop begins, a connection still open at the drain deadline
    /// is shut down, also when its stream ended during the stop; one that
    /// closes by itself ends its watch at once.
    #[test]
    fn a_stop_gives_every_connection_its_drain_deadline() {
        paused(async {
            let streams = Arc::new(Streams::default());
            let stop = streams.stop_signal();
            let mut open = conn();
            let mut ended = conn();
            let closing = conn();
            let _open = watch(&open, None, &stop);
            let ended_watch = watch(&ended, None, &stop);
            let closing_watch = watch(&closing, None, &stop);
            settle().await;
            streams.begin_close();
            drop(ended_watch);
            settle().await;
            // Its stream and connection both go: its watch ends now, so
            // the stop waits only for the other two.
            drop(closing_watch);
            let Conn { handle, .. } = closing;
            drop(handle);
            settle().await;
            assert!(still_open(&open) && still_open(&ended));
            tokio::time::advance(Duration::from_millis(199)).await;
            settle().await;
            assert!(still_open(&open), "shut before the deadline");
            tokio::time::advance(Duration::from_millis(2)).await;
            settle().await;
            assert!(shut(&mut open), "the open connection outlived the deadline");
            assert!(
                shut(&mut ended),
                "the ended stream's connection outlived it"
            );
        });
    }
}
