//! The committed OpenAPI document must equal what the code generates.
//! Rewrite it with `UPDATE_API_SPEC=1 cargo test spec`.

#[test]
fn committed_spec_matches_the_code() {
    let generated = redress::api::spec_yaml();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.yaml");
    if std::env::var("UPDATE_API_SPEC").is_ok() {
        std::fs::write(path, &generated).expect("write api-spec/openapi.yaml");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "api-spec/openapi.yaml is out of date; run `UPDATE_API_SPEC=1 cargo test spec` and commit it"
    );
}
