//! Renders JSON-shaped data as YAML for human-facing output such as `config`.

use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};
use serde_json::Value;

/// YAML text for `value`, keys in their JSON order.
pub fn to_yaml(value: &Value) -> String {
    let document = convert(value);
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline(true);
    // Emitting to a String cannot fail for data built from JSON.
    let _ = emitter.dump(&document);
    let body = out.strip_prefix("---\n").unwrap_or(&out).to_string();
    if body.ends_with('\n') { body } else { body + "\n" }
}

fn convert(value: &Value) -> Yaml<'static> {
    match value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(flag) => Yaml::Value(Scalar::Boolean(*flag)),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => Yaml::Value(Scalar::Integer(integer)),
            None => Yaml::Value(Scalar::String(number.to_string().into())),
        },
        // saphyr leaves these plain, as libyaml does; YAML 1.1 readers such
        // as kubectl's (go-yaml v2) read them as booleans.
        Value::String(text) if matches!(text.as_str(), "y" | "Y" | "n" | "N") => {
            Yaml::Representation(text.clone().into(), saphyr_parser::ScalarStyle::DoubleQuoted, None)
        }
        Value::String(text) => Yaml::Value(Scalar::String(text.clone().into())),
        Value::Array(items) => Yaml::Sequence(items.iter().map(convert).collect()),
        Value::Object(entries) => {
            let mut mapping = Mapping::new();
            for (key, item) in entries {
                mapping.insert(Yaml::Value(Scalar::String(key.clone().into())), convert(item));
            }
            Yaml::Mapping(mapping)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_look_like_other_types_stay_quoted() {
        let yaml = to_yaml(&serde_json::json!({"port": "3306", "flag": "no", "n": 3, "list": ["a b", "true"]}));
        assert!(yaml.contains("port: \"3306\""), "{yaml}");
        assert!(yaml.contains("n: 3"), "{yaml}");
        assert!(!yaml.contains("flag: no\n"), "{yaml}");
        let yaml = to_yaml(&serde_json::json!({"a": "y", "b": "N", "c": "yy"}));
        assert_eq!(yaml, "a: \"y\"\nb: \"N\"\nc: yy\n");
    }
}
