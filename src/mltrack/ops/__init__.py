"""The only parts of mltrack that write to a user's store, each behind an explicit command:
`rollback` (moves the production alias) and `cleanup --apply` (soft-deletes runs)."""
