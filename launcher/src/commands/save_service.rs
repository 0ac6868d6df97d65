//! `gst-replay save --service URL --session ID`: asks a replay service for a clip, the way
//! any client does (`POST /api/replay/v1/save` with an Idempotency-Key), and waits until it is
//! ready or failed. A request that gets no answer is sent again with the same key, so it can
//! never save twice.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};

use crate::cli::SaveArgs;

/// Sends of one request before giving up (the service may be restarting).
const ATTEMPTS: u32 = 4;
const POLL_INTERVAL: Duration = Duration::from_millis(100);

pub fn run(args: &SaveArgs) -> anyhow::Result<()> {
    let service = args
        .service
        .as_deref()
        .expect("dispatched on --service")
        .trim_end_matches('/');
    let session = args.session.as_deref().expect("clap requires --session");
    let mut body = json!({ "sessionId": session });
    if let Some(last) = args.last {
        body["fromSeconds"] = json!(last);
    }
    if let Some(post) = args.post {
        body["postSeconds"] = json!(post);
    }
    if args.clear {
        body["clear"] = json!(true);
    }
    let key = format!(
        "gst-replay-save-{}-{}",
        std::process::id(),
        gst_replay_service::jobs::now_millis()
    );
    let deadline = Instant::now()
        + Duration::from_secs(args.timeout)
        + Duration::from_secs_f64(args.post.unwrap_or(0.0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let status = runtime.block_on(async {
        let client = reqwest::Client::new();
        let accepted = post_save(&client, service, args.token.as_deref(), &key, &body).await?;
        let status_url = accepted["statusUrl"]
            .as_str()
            .ok_or_else(|| anyhow!("the service's answer has no statusUrl: {accepted}"))?;
        wait_until_final(&client, status_url, args.token.as_deref(), deadline).await
    })?;
    println!("{status}");
    match status["status"].as_str() {
        Some("ready") => {
            eprintln!(
                "Saved {:.1} s ({:.1} MB) as {}",
                status["durationSeconds"].as_f64().unwrap_or_default(),
                status["bytes"].as_f64().unwrap_or_default() / 1e6,
                status["storageUrl"].as_str().unwrap_or_default()
            );
            Ok(())
        }
        _ => bail!(
            "the service could not save the clip: {}",
            status["error"].as_str().unwrap_or("no reason given")
        ),
    }
}

async fn post_save(
    client: &reqwest::Client,
    service: &str,
    token: Option<&str>,
    key: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let url = format!("{service}/api/replay/v1/save");
    let mut last_error = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
        let mut request = client.post(&url).header("Idempotency-Key", key).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(response) => return answer(response).await,
            Err(err) => last_error = Some(err),
        }
    }
    Err(anyhow!(
        "no gst-replay serve answers at {service} ({}); start one with `gst-replay serve`",
        last_error.map(|err| err.to_string()).unwrap_or_default()
    ))
}

async fn wait_until_final(
    client: &reqwest::Client,
    status_url: &str,
    token: Option<&str>,
    deadline: Instant,
) -> anyhow::Result<Value> {
    loop {
        let mut request = client.get(status_url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot ask {status_url}"))?;
        let status = answer(response).await?;
        if matches!(status["status"].as_str(), Some("ready" | "failed")) {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            bail!("the clip was not ready in time; its status is {status}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The JSON of a 2xx answer, or the problem document's detail as the error.
async fn answer(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "detail": text }));
    if status.is_success() {
        Ok(value)
    } else {
        bail!(
            "the service answered {status}: {}",
            value["detail"].as_str().unwrap_or(&text)
        )
    }
}
