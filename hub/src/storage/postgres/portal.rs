//! A query's rows read a batch at a time through a portal (a cursor of the extended protocol),
//! so that several queries of one transaction are walked together, each holding only its
//! current batch: what the indicators' join of two ordered index ranges needs.

use crate::error::{HubError, Result};
use postgres::{Portal, Row, Transaction};
use std::cell::RefCell;

/// Rows fetched from the server at a time: a batch of answer rows is a few hundred kilobytes.
const BATCH: i32 = 5_000;

/// The rows of one bound query, as an iterator of `read` of each row.
pub struct PortalRows<'t, 'c, T> {
    tx: &'t RefCell<Transaction<'c>>,
    portal: Portal,
    batch: std::vec::IntoIter<Row>,
    exhausted: bool,
    read: fn(&Row) -> Result<T>,
}

impl<'t, 'c, T> PortalRows<'t, 'c, T> {
    /// Binds `sql` to `params` in `tx`; no row is fetched until the first is asked for.
    pub fn bind(
        tx: &'t RefCell<Transaction<'c>>,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        read: fn(&Row) -> Result<T>,
    ) -> Result<Self> {
        let portal = tx.borrow_mut().bind(sql, params)?;
        Ok(PortalRows {
            tx,
            portal,
            batch: Vec::new().into_iter(),
            exhausted: false,
            read,
        })
    }

    /// The next batch, once the current one is read; `false` when the portal had no more.
    fn fetch(&mut self) -> Result<bool> {
        if self.exhausted {
            return Ok(false);
        }
        let rows = self.tx.borrow_mut().query_portal(&self.portal, BATCH)?;
        self.exhausted = rows.len() < BATCH as usize;
        let fetched = !rows.is_empty();
        self.batch = rows.into_iter();
        Ok(fetched)
    }
}

impl<T> Iterator for PortalRows<'_, '_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if let Some(row) = self.batch.next() {
            return Some((self.read)(&row));
        }
        match self.fetch() {
            Ok(true) => self.batch.next().map(|row| (self.read)(&row)),
            Ok(false) => None,
            Err(error) => {
                self.exhausted = true;
                Some(Err::<T, HubError>(error))
            }
        }
    }
}
