//! A rate limit per client address: a token bucket each, refilled at the configured rate and
//! holding up to two seconds' worth (so bursts pass and a flood gets 429).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Most client addresses tracked; beyond it the fullest buckets (idle clients) are dropped.
const MAX_CLIENTS: usize = 10_000;

pub(crate) struct Limiter {
    rate: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    pub fn new(per_second: u32) -> Self {
        Limiter {
            rate: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `ip`'s bucket; `false` when it is empty.
    fn admit(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let burst = 2.0 * self.rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&ip) {
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() * self.rate < burst);
        }
        let (level, at) = buckets.entry(ip).or_insert((burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * self.rate).min(burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(crate) async fn rate_limit(
    State(state): State<Arc<crate::State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if state.limiter.admit(peer.ip()) {
        return next.run(req).await;
    }
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "more than {} requests per second from {}; slow down (the server's --rate-limit)",
            state.limiter.rate,
            peer.ip()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_and_a_flood_is_held_back() {
        let l = Limiter::new(10);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let admitted = (0..100).filter(|_| l.admit(ip)).count();
        assert_eq!(admitted, 20, "two seconds' worth");
        assert!(l.admit(IpAddr::from([10, 0, 0, 2])), "per address");
    }
}
