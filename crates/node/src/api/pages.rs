//! Pagination: every list the API returns comes in pages, so that a read
//! holds the finalized chain's read guard only for bounded work (see
//! `ledger`'s module docs) and an answer stays small whatever the history.
//!
//! One query shape for every list ([`PageQuery`]: `limit` and `cursor`),
//! one page size per kind of list ([`PageSize`], named constants below), and
//! every page says how to get the next one: its `next`, given back as
//! `cursor`, or null on the last page. Cursors are plain: a position in an
//! append-only list (accounts, evaluations, thanks), the index to stop
//! before (contributions and action logs, newest first), or the last DC id
//! of the page; so a page stays right while the chain grows. Each list's
//! pages are cut next to its route, in its area's file.

use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiError, bad_request};

/// How many items a page of one kind of list holds: `default` when the
/// query names no `limit`, never more than `max`.
#[derive(Clone, Copy, Debug)]
pub struct PageSize {
    pub default: usize,
    pub max: usize,
}

/// DCs of `/api/v1/dcs`.
pub const DCS: PageSize = PageSize {
    default: 50,
    max: 100,
};

/// Accounts of a DC.
pub const MEMBERS: PageSize = PageSize {
    default: 100,
    max: 500,
};

/// Contributions of a DC.
pub const CONTRIBUTIONS: PageSize = PageSize {
    default: 50,
    max: 200,
};

/// Evaluations, or thanks, of a contribution.
pub const EVALUATIONS: PageSize = PageSize {
    default: 100,
    max: 500,
};

/// Accounts of an agent.
pub const MEMBERSHIPS: PageSize = PageSize {
    default: 50,
    max: 100,
};

/// Entries of an agent's action log.
pub const LOG: PageSize = PageSize {
    default: 50,
    max: 200,
};

/// Which page of a list: at most `limit` items, from `cursor` on.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items at most. Each list has a default and a maximum
    /// (larger values are lowered to it), given in its description.
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// Where to go on: the `next` of the previous page. Absent for the
    /// first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page's size: the default, or `limit` lowered to the maximum.
    pub fn limit(&self, size: PageSize) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(size.default),
            Some(0) => Err(bad_request("limit: at least 1")),
            Some(limit) => Ok((limit as usize).min(size.max)),
        }
    }

    /// The cursor, read by `parse`.
    pub fn cursor_with<T>(
        &self,
        parse: impl FnOnce(&str) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        self.cursor.as_deref().map(parse).transpose()
    }

    /// A numeric cursor.
    pub fn cursor_number(&self) -> Result<Option<u64>, ApiError> {
        self.cursor_with(|text| {
            text.parse().map_err(|_| {
                bad_request("cursor: expected the `next` of a previous page (a number)")
            })
        })
    }

    /// A numeric cursor that is a position in a list in memory.
    pub(super) fn cursor_index(&self) -> Result<Option<usize>, ApiError> {
        Ok(self
            .cursor_number()?
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
    }
}

/// Cuts `items` (fetched with one extra to learn whether more follow) to
/// `limit`, and returns the cursor of the next page: `key` of the last item
/// kept, or `None` when nothing follows.
pub fn next_after<T>(
    items: &mut Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(key)
}
