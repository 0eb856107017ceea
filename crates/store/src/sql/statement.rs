//! Dynamic SQL with each database's placeholders. sqlx's `QueryBuilder` writes `?` for the
//! `Any` driver, which PostgreSQL rejects. SQLite accepts `$n` too, but looks every named
//! parameter up in a list when binding, which is quadratic in a 4,800-value INSERT (it took
//! more than half the ingest time); so SQLite gets anonymous `?` and PostgreSQL `$n`.

use super::Backend;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{Any, AnyConnection, Arguments, Encode, Type};
use std::fmt::Write;

/// A statement under construction: SQL text and the values bound to its placeholders.
pub(super) struct Statement<'q> {
    text: String,
    backend: Backend,
    args: AnyArguments<'q>,
    count: usize,
    error: Option<sqlx::error::BoxDynError>,
}

impl<'q> Statement<'q> {
    pub(super) fn new(backend: Backend, text: impl Into<String>) -> Self {
        Statement {
            text: text.into(),
            backend,
            args: AnyArguments::default(),
            count: 0,
            error: None,
        }
    }

    /// Appends SQL text.
    pub(super) fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(super) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        self.count += 1;
        match self.backend {
            Backend::Sqlite => self.text.push('?'),
            Backend::Postgres => {
                let _ = write!(self.text, "${}", self.count);
            }
        }
        if let Err(e) = self.args.add(value) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Appends `(v1, v2, …)`, one placeholder per value.
    pub(super) fn bind_list<T>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    fn into_parts(self) -> Result<(String, AnyArguments<'q>), sqlx::Error> {
        match self.error {
            Some(e) => Err(sqlx::Error::Encode(e)),
            None => Ok((self.text, self.args)),
        }
    }

    pub(super) async fn execute(self, conn: &mut AnyConnection) -> sqlx::Result<AnyQueryResult> {
        let (text, args) = self.into_parts()?;
        sqlx::query_with(&text, args).execute(conn).await
    }

    pub(super) async fn fetch_all<'e, E>(self, executor: E) -> sqlx::Result<Vec<AnyRow>>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let (text, args) = self.into_parts()?;
        sqlx::query_with(&text, args).fetch_all(executor).await
    }
}
