//! Passwords sealed with KMS, and the proof that none is stored in plaintext.

use crate::common::{mailbox, profile, scan_table_as_text, stack};
use base64::Engine;
use exsync_domain::DomainError;
use exsync_domain::ports::{ConfigStore, SecretSealer};
use serde_json::json;

#[tokio::test]
async fn a_sealed_secret_unseals_under_its_context() {
    let s = stack().await;
    let sealed = s.sealer.seal("P@ssw0rd!", "profile:p1").await.unwrap();
    assert!(!sealed.ciphertext_b64.contains("P@ssw0rd!"));
    assert!(sealed.key_id.starts_with("arn:"), "{}", sealed.key_id);
    assert_eq!(
        s.sealer.unseal(&sealed, "profile:p1").await.unwrap(),
        "P@ssw0rd!"
    );
}

#[tokio::test]
async fn a_secret_sealed_for_one_entity_does_not_unseal_as_another() {
    let s = stack().await;
    let sealed = s.sealer.seal("P@ssw0rd!", "profile:p1").await.unwrap();
    let e = s.sealer.unseal(&sealed, "profile:p2").await.unwrap_err();
    assert!(matches!(e, DomainError::Crypto(_)), "{e:?}");
}

#[tokio::test]
async fn a_ciphertext_that_is_not_base64_is_a_crypto_error() {
    let s = stack().await;
    let mut sealed = s.sealer.seal("x", "c").await.unwrap();
    sealed.ciphertext_b64 = "%%% not base64".into();
    let e = s.sealer.unseal(&sealed, "c").await.unwrap_err();
    assert!(matches!(e, DomainError::Crypto(_)), "{e:?}");
}

#[tokio::test]
async fn no_password_is_stored_in_plaintext() {
    let s = stack().await;
    let profile_password = "Prof1le-Secret-7c1e";
    let mailbox_password = "Ma1lbox-Secret-93ab";

    let mut p = profile("With password", json!({}));
    p.password = Some(
        s.sealer
            .seal(profile_password, &format!("profile:{}", p.id))
            .await
            .unwrap(),
    );
    s.store.create_profile(&p).await.unwrap();
    let mut m = mailbox(
        "Own credentials",
        json!({"profile_id": p.id, "user_name": "CONTOSO\\alice"}),
    );
    m.password = Some(
        s.sealer
            .seal(mailbox_password, &format!("mailbox:{}", m.id))
            .await
            .unwrap(),
    );
    s.store.create_mailbox(&m).await.unwrap();

    let items = scan_table_as_text(&s).await;
    assert_eq!(items.len(), 2, "the profile and the mailbox");
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [profile_password, mailbox_password] {
        let forms = [
            secret.to_owned(),
            b64.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        ];
        for item in &items {
            for form in &forms {
                assert!(
                    !item.contains(form.as_str()),
                    "a stored item contains {form:?}"
                );
            }
        }
    }
    // What is stored still unseals to the password: the scan looked at real ciphertext.
    let stored = s.store.get_profile(&p.id).await.unwrap().unwrap();
    let sealed = stored.password.expect("sealed password stored");
    assert_eq!(
        s.sealer
            .unseal(&sealed, &format!("profile:{}", p.id))
            .await
            .unwrap(),
        profile_password
    );
}
