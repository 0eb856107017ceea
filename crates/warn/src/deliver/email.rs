//! E-mail delivery over SMTP (lettre, rustls), in the focal point's language.
//!
//! Messages are plain text, UTF-8 (lettre encodes a non-ASCII subject as RFC 2047 words and
//! picks the body's transfer encoding). The Message-ID is derived from the delivery id, so a
//! message sent twice (a courier died after the server took it but before the outbox said so)
//! is recognisable as one by mail systems and people alike.

use super::{Facts, Outcome};
use crate::config::{SmtpConfig, StartTls};
use crate::error::WarnError;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// A message's subject and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// The Message-ID of a delivery's message.
pub fn message_id(delivery_id: &str) -> String {
    format!("<{delivery_id}@watchpost.warning>")
}

/// Writes the message of one delivery in its language (`vi`, else English).
pub fn compose(facts: &Facts<'_>) -> Letter {
    match facts.delivery.language.as_str() {
        "vi" => vietnamese(facts),
        _ => english(facts),
    }
}

fn english(f: &Facts<'_>) -> Letter {
    let w = f.warning;
    Letter {
        subject: format!(
            "[Watchpost] {} warning: {}",
            capitalise(&w.severity),
            f.detail.indicator_name
        ),
        body: format!(
            "Dear {who},\n\n\
             Watchpost has seen signs of a cyber attack in the networks of {org}.\n\n\
             Severity:     {severity}\n\
             Indicator:    {name} ({id})\n\
             Pattern:      {pattern}\n\
             Observed:     {observation}\n\
             First seen:   {first}\n\
             Last seen:    {last}\n\
             Times seen:   {count}\n\n\
             Please acknowledge this warning once you have taken it in hand:\n{ack}\n\n\
             If no one acknowledges it, the next contact in your escalation chain will be warned.\n\n\
             Watchpost warning {warning}\n",
            who = f.delivery.focal_point,
            org = w.org,
            severity = w.severity,
            name = f.detail.indicator_name,
            id = w.indicator_id,
            pattern = f.detail.pattern,
            observation = f.detail.observation,
            first = f.first_seen(),
            last = f.last_seen(),
            count = w.count,
            ack = f.ack_url,
            warning = w.id,
        ),
    }
}

fn vietnamese(f: &Facts<'_>) -> Letter {
    let w = f.warning;
    let severity = match w.severity.as_str() {
        "low" => "thấp",
        "medium" => "trung bình",
        "high" => "cao",
        "critical" => "nghiêm trọng",
        other => other,
    };
    Letter {
        subject: format!(
            "[Watchpost] Cảnh báo mức {severity}: {}",
            f.detail.indicator_name
        ),
        body: format!(
            "Kính gửi {who},\n\n\
             Watchpost đã phát hiện dấu hiệu tấn công mạng trong hệ thống mạng của {org}.\n\n\
             Mức độ:          {severity}\n\
             Dấu hiệu:        {name} ({id})\n\
             Mẫu nhận dạng:   {pattern}\n\
             Quan sát:        {observation}\n\
             Lần đầu:         {first}\n\
             Lần gần nhất:    {last}\n\
             Số lần:          {count}\n\n\
             Vui lòng xác nhận đã tiếp nhận cảnh báo này tại:\n{ack}\n\n\
             Nếu cảnh báo không được xác nhận, đầu mối tiếp theo trong chuỗi leo thang sẽ được thông báo.\n\n\
             Cảnh báo Watchpost {warning}\n",
            who = f.delivery.focal_point,
            org = w.org,
            name = f.detail.indicator_name,
            id = w.indicator_id,
            pattern = f.detail.pattern,
            observation = f.detail.observation,
            first = f.first_seen(),
            last = f.last_seen(),
            count = w.count,
            ack = f.ack_url,
            warning = w.id,
        ),
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Sends e-mail deliveries through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// A mailer for `config`; fails when the sender address or the TLS settings are unusable.
    pub fn new(config: &SmtpConfig) -> Result<Self, WarnError> {
        let from: Mailbox = config.from.parse().map_err(|e| {
            WarnError::Config(format!(
                "smtp.from {:?} is not an e-mail address: {e}",
                config.from
            ))
        })?;
        let tls = match config.starttls {
            StartTls::Off => Tls::None,
            StartTls::Opportunistic => Tls::Opportunistic(tls_parameters(&config.host)?),
            StartTls::Required => Tls::Required(tls_parameters(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one delivery's message.
    pub async fn send(&self, facts: &Facts<'_>) -> Outcome {
        let to: Mailbox = match facts.delivery.target.parse() {
            Ok(to) => to,
            Err(e) => {
                return Outcome::Refused(format!(
                    "{:?} is not an e-mail address: {e}",
                    facts.delivery.target
                ))
            }
        };
        let letter = compose(facts);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject)
            .message_id(Some(message_id(&facts.delivery.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body);
        let message = match message {
            Ok(m) => m,
            Err(e) => return Outcome::Refused(format!("the message cannot be built: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(e) if e.is_permanent() => {
                Outcome::Refused(format!("the mail server refused the message: {e}"))
            }
            Err(e) => Outcome::Retry(format!("the mail server did not take the message: {e}")),
        }
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, WarnError> {
    TlsParameters::new(host.to_string())
        .map_err(|e| WarnError::Config(format!("cannot set up TLS for {host}: {e}")))
}
