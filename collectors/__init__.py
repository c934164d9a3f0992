"""Sources of posts: CSV exports and platform APIs. They yield PostRecords and know nothing of SQL."""
