//! `kind: redis`: the databases consumers use, for `check`.

use super::{KindRules, SettingsContext, needs_nothing_more};
use crate::spec::error::Diagnostic;
use crate::spec::model::{Kind, KindSettings, RedisSettings};
use crate::spec::reader::Reader;
use crate::spec::yaml::Node;

pub(super) const RULES: KindRules = KindRules {
    kind: Kind::Redis,
    settings: &["databases"],
    read_settings,
    check_service: needs_nothing_more,
};

fn read_settings(r: &mut Reader, node: &Node, _: &SettingsContext<'_>) -> KindSettings {
    let mut databases = Vec::new();
    if let Some(list) = node.get("databases") {
        for item in r.list(list, "`databases`") {
            match item.as_scalar().map(str::parse::<u8>) {
                Some(Ok(number)) if number < 16 => databases.push(number),
                _ => r.push(
                    Diagnostic::at(&item.position, "a Redis database is a number from 0 to 15")
                        .with_hint("Redis has 16 databases unless configured otherwise"),
                ),
            }
        }
    }
    KindSettings::Redis(RedisSettings { databases })
}
