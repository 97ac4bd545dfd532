//! For tests (this crate's and others'): a throwaway schema per test in the PostgreSQL database
//! that `MINGA_TEST_POSTGRES_URL` names (scripts/postgres-test-cluster starts one and prints it).
//! Without the variable a test is skipped, and says so; in CI (`CI=true`) it fails instead.

use super::PostgresStorage;
use crate::error::Result;
use std::io::Write;

/// The environment variable naming the test database.
pub const URL_VAR: &str = "MINGA_TEST_POSTGRES_URL";

/// One test's schema; dropped with everything in it when this is dropped.
pub struct TestDatabase {
    url: String,
    schema: String,
}

impl TestDatabase {
    /// A fresh schema for `test`, or `None` after printing that `test` is skipped when
    /// [`URL_VAR`] is unset. Panics when it is unset in CI, where these tests must run.
    pub fn for_test(test: &str) -> Option<TestDatabase> {
        let Ok(url) = std::env::var(URL_VAR) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: CI runs the PostgreSQL tests, but {URL_VAR} is unset \
                 (scripts/test sets it with scripts/postgres-test-cluster)"
            );
            // Straight to stderr: the test harness hides what `eprintln!` prints in a passing
            // test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: PostgreSQL tests need {URL_VAR} \
                 (`eval \"$(scripts/postgres-test-cluster $$)\"` starts a throwaway server)"
            );
            return None;
        };
        let mut name: String = test.chars().take(40).collect();
        name = format!(
            "t_{name}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let database = TestDatabase { url, schema: name };
        let mut admin = postgres::Client::connect(&database.url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{test}: {URL_VAR} does not connect: {e}"));
        admin
            .batch_execute(&format!("CREATE SCHEMA \"{}\"", database.schema))
            .unwrap();
        Some(database)
    }

    /// The connection URL, with the schema as the search path (for `minga-hub --database`).
    pub fn url(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let options = format!("-c search_path={}", self.schema).replace(' ', "%20");
        format!(
            "{}{separator}options={}",
            self.url,
            options.replace('=', "%3D")
        )
    }

    fn config(&self) -> postgres::Config {
        self.url().parse().expect("a test database URL")
    }

    /// A storage over this schema (each call its own pool, as another hub process would have).
    pub fn open(&self) -> Result<PostgresStorage> {
        PostgresStorage::open_config(self.config())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.schema));
        }
    }
}
