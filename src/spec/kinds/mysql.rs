//! `kind: mysql`: the migrations and seed directories, and the credentials
//! flowinfra logs in with.

use super::{KindRules, SettingsContext, require_environment};
use crate::spec::error::Diagnostic;
use crate::spec::model::{Kind, KindSettings, MysqlSettings, Service};
use crate::spec::reader::Reader;
use crate::spec::validate::read_existing_dir;
use crate::spec::yaml::{Node, Position};

pub(super) const RULES: KindRules = KindRules {
    kind: Kind::Mysql,
    settings: &["migrations", "seed"],
    read_settings,
    check_service,
};

fn read_settings(r: &mut Reader, node: &Node, context: &SettingsContext<'_>) -> KindSettings {
    KindSettings::Mysql(MysqlSettings {
        migrations: node
            .get("migrations")
            .and_then(|n| read_existing_dir(r, n, "migrations directory", context.project_dir)),
        seed: node
            .get("seed")
            .and_then(|n| read_existing_dir(r, n, "seed directory", context.project_dir)),
    })
}

fn check_service(r: &mut Reader, service: &Service, position: &Position) {
    require_environment(
        r,
        service,
        position,
        &["MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD"],
        "flowinfra logs in as the application user to check readiness and to migrate",
    );
    let root_password_set = [
        "MYSQL_ROOT_PASSWORD",
        "MYSQL_ALLOW_EMPTY_PASSWORD",
        "MYSQL_RANDOM_ROOT_PASSWORD",
    ]
    .iter()
    .any(|name| service.environment.get(*name).is_some_and(|v| !v.is_empty()));
    if !root_password_set {
        r.push(
            Diagnostic::at(
                position,
                format!(
                    "service `{}` of kind mysql needs MYSQL_ROOT_PASSWORD (or MYSQL_RANDOM_ROOT_PASSWORD)",
                    service.name
                ),
            )
            .with_hint("the MySQL image refuses to initialise without one"),
        );
    }
}
