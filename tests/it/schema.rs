//! The committed schema is what the code generates, and on its own it catches what an editor
//! should flag while a person types.

use serde_json::Value;

use super::support::{read, root};

fn committed() -> Value {
    serde_json::from_str(&read("schemas/scenario.schema.json")).unwrap()
}

fn toml_to_json(text: &str) -> Value {
    let v: toml::Value = toml::from_str(text).unwrap();
    serde_json::to_value(v).unwrap()
}

#[test]
fn committed_schema_matches_the_generated_one() {
    let generated = gauntlet::scenario::schema::scenario_schema();
    assert!(
        generated == committed(),
        "schemas/scenario.schema.json is stale: run `cargo run -- schema --write schemas`"
    );
}

#[test]
fn committed_results_schema_matches_the_generated_one() {
    let generated = gauntlet::commands::schema::generated();
    let (_, text) = generated
        .iter()
        .find(|(name, _)| *name == "results.schema.json")
        .unwrap();
    assert!(
        *text == read("schemas/results.schema.json"),
        "schemas/results.schema.json is stale: run `cargo run -- schema --write schemas`"
    );
}

#[test]
fn shipped_scenarios_validate_against_the_committed_schema() {
    let validator = jsonschema::validator_for(&committed()).unwrap();
    for e in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = e.unwrap().path();
        let json = toml_to_json(&std::fs::read_to_string(&path).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn the_schema_alone_flags_what_an_editor_should() {
    let validator = jsonschema::validator_for(&committed()).unwrap();
    let base = "[scenario]\nname = \"x\"\nseed = 1\n\n[[phase]]\nname = \"a\"\nduration = \"1m\"\nload = { pattern = \"constant\", rate = 10 }\n";
    assert!(validator.is_valid(&toml_to_json(base)));
    let broken = [
        (
            "unknown key",
            base.replace("seed = 1", "seed = 1\nsede = 2"),
        ),
        ("wrong type", base.replace("seed = 1", "seed = \"1\"")),
        (
            "unknown pattern",
            base.replace("\"constant\"", "\"constnat\""),
        ),
        ("missing key", base.replace("duration = \"1m\"\n", "")),
        ("negative rate", base.replace("rate = 10", "rate = -1")),
        (
            "fraction > 1",
            format!("{base}[workload]\nfraud_rate = 2\n"),
        ),
        ("duration format", base.replace("\"1m\"", "\"1 minute\"")),
        (
            "name format",
            base.replace("name = \"a\"", "name = \"Phase A\""),
        ),
        (
            "unknown failure kind",
            format!(
                "{base}[[failure]]\nkind = \"melt\"\ncomponent = \"gateway\"\nat = \"1s\"\nduration = \"1s\"\n"
            ),
        ),
        (
            "errors without probability",
            format!(
                "{base}[[failure]]\nkind = \"errors\"\ncomponent = \"gateway\"\nat = \"1s\"\nduration = \"1s\"\n"
            ),
        ),
        (
            "unknown component table",
            format!("{base}[target.components.scorer]\nconcurrency = 2\n"),
        ),
        (
            "http without url",
            format!("{base}[target]\nkind = \"http\"\n"),
        ),
    ];
    for (what, text) in broken {
        assert!(
            !validator.is_valid(&toml_to_json(&text)),
            "the schema accepts: {what}"
        );
    }
    // kind may be left out of a simulated target.
    assert!(validator.is_valid(&toml_to_json(&format!(
        "{base}[target]\ntimeout = \"2s\"\n"
    ))));
}
