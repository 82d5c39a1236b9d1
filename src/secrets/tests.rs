use super::*;

#[test]
fn base64_matches_rfc4648() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
}

#[test]
fn every_form_of_a_secret_is_replaced_wherever_it_appears() {
    let mut s = Secrets::default();
    s.add("Bearer s3cr3t/+ tok");
    s.add("");
    s.add("abc");
    let text = "got Bearer s3cr3t/+ tok, then s3cr3t%2F%2B%20tok and s3cr3t%2F%2B+tok; abc";
    assert_eq!(
        s.redact(text),
        "got [redacted], then [redacted] and [redacted]; abc"
    );
}

#[test]
fn basic_auth_is_redacted_as_the_pair_the_password_and_the_base64() {
    let mut s = Secrets::default();
    s.add_basic_auth("ana:hunter22");
    let text = "Basic YW5hOmh1bnRlcjIy for ana:hunter22 (hunter22)";
    assert_eq!(
        s.redact(text),
        "Basic [redacted] for [redacted] ([redacted])"
    );
}

#[test]
fn credentials_and_secret_query_values_in_urls_are_secrets() {
    let mut s = Secrets::default();
    s.add_url("https://bot:p%40ss-word@hooks.example.com/x?weight=25&access_token=qwerty123");
    let text = "echo p@ss-word p%40ss-word qwerty123 weight=25";
    assert_eq!(
        s.redact(text),
        "echo [redacted] [redacted] [redacted] weight=25"
    );
    assert_eq!(
        format!("{s:?}"),
        format!("Secrets({} values)", s.values.len())
    );
}

#[test]
fn a_hook_label_keeps_its_url_but_not_its_credentials() {
    let hook = Hook {
        http: Some(
            "https://bot:pw1234@lb.example.com/pools/{service}?colour=green&api_key=k-123&x".into(),
        ),
        method: Some("PUT".into()),
        ..Hook::default()
    };
    assert_eq!(
        hook.label(),
        "PUT https://lb.example.com/pools/{service}?colour=green&api_key=[redacted]&x"
    );
    assert_eq!(url_for_labels("env:CHAT_URL"), "env:CHAT_URL");
}

#[test]
fn a_url_is_shown_without_credentials_or_query() {
    assert_eq!(
        shown_url("https://u:p@prom.example.com/api/v1/query?query=up"),
        "https://prom.example.com/api/v1/query"
    );
}
