/*
 * The PostgreSQL engine's SQL: the schema (one table per kv table in
 * schema secretd, k bytea PRIMARY KEY, v bytea; secrets and versions
 * also carry the key's org, scope, owner and name as plain columns for
 * operators and indexes), the statements prepared on every connection
 * (a commit's writes: one per table and kind, the rows as arrays),
 * and the few queries outside the tables.  bytea compares as memcmp,
 * shorter first, so ORDER BY k is LMDB's key order.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "kv_pg.h"

static const char *const table_names[KV_NTABLES] = {
	[KV_SECRETS] = "secrets",
	[KV_VERSIONS] = "versions",
	[KV_TOKENS] = "tokens",
	[KV_TOKEN_IDS] = "token_ids",
	[KV_TOKEN_OWNERS] = "token_owners",
	[KV_TOKEN_CHILDREN] = "token_children",
	[KV_USAGE] = "usage",
	[KV_KEYRING] = "keyring",
	[KV_META] = "meta",
};

static const char stmt_letters[PS_NSTMT] = {
	[PS_GET] = 'g', [PS_PAGE] = 'p', [PS_GET_LOCK] = 'G',
	[PS_PAGE_LOCK] = 'P', [PS_INSERT] = 'i', [PS_UPDATE] = 'u',
	[PS_UPSERT] = 'U', [PS_DELETE] = 'd', [PS_PAGE_BIG] = 'b',
	[PS_GET_LOCKS] = 'L'
};

/* The statements outside the tables, prepared by name. */
static const struct {
	const char	*name;
	const char	*sql;
} fixed_stmts[] = {
	{ "begin", "BEGIN" },
	{ "commit", "COMMIT" },
	{ "rollback", "ROLLBACK" },
	{ "marker", "INSERT INTO secretd.commits (node, batch) "
	    "VALUES ($1, $2)" },
	/* kv_pg_txn.c: range_lock_send */
	{ "range_lock", "SELECT pg_advisory_xact_lock($1::bigint)" },
	{ "count", "SELECT count(*) FROM secretd.secrets" },
	{ "dbsize", "SELECT pg_database_size(current_database())" },
	/* a batch's marker matters only while its outcome is unknown */
	{ "prune", "DELETE FROM secretd.commits "
	    "WHERE at < now() - interval '1 day'" },
};

const char *
pg_table_name(enum kv_table tb)
{
	return table_names[tb];
}

int
pg_table_named(enum kv_table tb)
{
	return tb == KV_SECRETS || tb == KV_VERSIONS;
}

const char *
pg_stmt_name(enum pg_stmt s, enum kv_table tb, char *buf, size_t len)
{
	snprintf(buf, len, "%c%d", stmt_letters[s], (int)tb);
	return buf;
}

static int
stmt_sql(enum pg_stmt s, enum kv_table tb, char *buf, size_t len)
{
	const char *t = table_names[tb];
	const char *rows = pg_table_named(tb) ?
	    "(k, v, org, scope, owner, name) SELECT * FROM unnest($1::bytea[], "
	    "$2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[])" :
	    "(k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[])";
	int n = -1;

	switch (s) {
	case PS_GET:
	case PS_GET_LOCK:
		n = snprintf(buf, len, "SELECT v FROM secretd.%s WHERE k = $1%s",
		    t, s == PS_GET_LOCK ? " FOR UPDATE" : "");
		break;
	case PS_PAGE:
	case PS_PAGE_LOCK:
		n = snprintf(buf, len, "SELECT k, v FROM secretd.%s "
		    "WHERE k >= $1 ORDER BY k LIMIT %d%s", t, PG_PAGE,
		    s == PS_PAGE_LOCK ? " FOR UPDATE" : "");
		break;
	case PS_PAGE_BIG:
		n = snprintf(buf, len, "SELECT k, v FROM secretd.%s "
		    "WHERE k >= $1 ORDER BY k LIMIT %d", t, PG_PAGE_BIG);
		break;
	case PS_GET_LOCKS:
		/* LockRows sits above the sort: rows lock in key order */
		n = snprintf(buf, len, "SELECT k, v FROM secretd.%s "
		    "WHERE k = ANY($1::bytea[]) ORDER BY k FOR UPDATE", t);
		break;
	case PS_INSERT:
		n = snprintf(buf, len, "INSERT INTO secretd.%s %s", t, rows);
		break;
	case PS_UPDATE:
		/*
		 * Every row was read and locked as present, so every one
		 * must be updated; if not (a bug, not a race), the
		 * division by zero fails the statement, so the COMMIT
		 * queued behind it in the pipeline never runs.
		 */
		n = snprintf(buf, len, "WITH w AS (UPDATE secretd.%s t "
		    "SET v = u.v FROM unnest($1::bytea[], $2::bytea[]) "
		    "AS u(k, v) WHERE t.k = u.k RETURNING 1) "
		    "SELECT count(*) / (count(*) = "
		    "cardinality($1::bytea[]))::int FROM w", t);
		break;
	case PS_UPSERT:
		n = snprintf(buf, len, "INSERT INTO secretd.%s %s "
		    "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", t, rows);
		break;
	case PS_DELETE:
		n = snprintf(buf, len, "DELETE FROM secretd.%s "
		    "WHERE k = ANY($1::bytea[])", t);
		break;
	case PS_NSTMT:
		break;
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Every statement, queued on a connection being set up. */
int
pg_prepare_all(struct pg *pg, struct pg_conn *pc)
{
	char name[16], sql[512];
	size_t i;
	int s, tb;

	for (tb = 0; tb < KV_NTABLES; tb++)
		for (s = 0; s < PS_NSTMT; s++) {
			if (stmt_sql(s, tb, sql, sizeof(sql)) == -1 ||
			    !PQsendPrepare(pc->c, pg_stmt_name(s, tb, name,
			    sizeof(name)), sql, 0, NULL))
				return -1;
			if (pg_queue(pc, PI_PREPARE, NULL, 0) == -1)
				return -1;
		}
	for (i = 0; i < sizeof(fixed_stmts) / sizeof(fixed_stmts[0]); i++) {
		if (!PQsendPrepare(pc->c, fixed_stmts[i].name,
		    fixed_stmts[i].sql, 0, NULL))
			return -1;
		if (pg_queue(pc, PI_PREPARE, NULL, 0) == -1)
			return -1;
	}
	(void)pg;
	return 0;
}

/*
 * The plain columns of a secrets or versions row, from its key:
 * org \0 scope \0 owner \0 name, and for a version \0 be32 after it.
 */
int
pg_key_columns(enum kv_table tb, const MDB_val *k, char cols[4][256])
{
	const uint8_t *p = k->mv_data;
	size_t len = k->mv_size, i, start = 0, n = 0;

	if (tb == KV_VERSIONS) {
		if (len < 5 || p[len - 5] != '\0')
			return -1;
		len -= 5;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '\0')
			continue;
		if (n == 4 || i - start >= 256 || (n == 3 && i != len))
			return -1;
		memcpy(cols[n], p + start, i - start);
		cols[n][i - start] = '\0';
		n++;
		start = i + 1;
	}
	return n == 4 ? 0 : -1;
}

/* The schema, in one transaction; every statement may run again. */
int
pg_schema_send(struct pg *pg, struct pg_conn *pc)
{
	char sql[512];
	int tb;

	static const char *const head[] = {
		"BEGIN",
		"CREATE SCHEMA IF NOT EXISTS secretd",
		"CREATE TABLE IF NOT EXISTS secretd.schema_version ("
		    "one boolean PRIMARY KEY DEFAULT true CHECK (one), "
		    "version integer NOT NULL)",
		"CREATE TABLE IF NOT EXISTS secretd.commits ("
		    "node text COLLATE \"C\" NOT NULL, batch bigint NOT NULL, "
		    "at timestamptz NOT NULL DEFAULT now(), "
		    "PRIMARY KEY (node, batch))",
	};
	size_t i;

	for (i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		if (pg_send_sql(pg, pc, NULL, head[i], 0, NULL, NULL, NULL,
		    PI_SCHEMA, NULL, 0) == -1)
			return -1;
	snprintf(sql, sizeof(sql), "INSERT INTO secretd.schema_version "
	    "(version) VALUES (%d) ON CONFLICT DO NOTHING", PG_SCHEMA);
	if (pg_send_sql(pg, pc, NULL, sql, 0, NULL, NULL, NULL, PI_SCHEMA,
	    NULL, 0) == -1)
		return -1;
	for (tb = 0; tb < KV_NTABLES; tb++) {
		snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS "
		    "secretd.%s (k bytea PRIMARY KEY, v bytea NOT NULL%s)",
		    table_names[tb], pg_table_named(tb) ?
		    ", org text COLLATE \"C\", scope text COLLATE \"C\", "
		    "owner text COLLATE \"C\", name text COLLATE \"C\"" : "");
		if (pg_send_sql(pg, pc, NULL, sql, 0, NULL, NULL, NULL,
		    PI_SCHEMA, NULL, 0) == -1)
			return -1;
		if (!pg_table_named(tb))
			continue;
		snprintf(sql, sizeof(sql), "CREATE INDEX IF NOT EXISTS "
		    "%s_names ON secretd.%s (org, scope, owner, name)",
		    table_names[tb], table_names[tb]);
		if (pg_send_sql(pg, pc, NULL, sql, 0, NULL, NULL, NULL,
		    PI_SCHEMA, NULL, 0) == -1)
			return -1;
	}
	return pg_send_sql(pg, pc, NULL, "COMMIT", 0, NULL, NULL, NULL,
	    PI_SCHEMA, NULL, 0);
}

/* The layout's version, before the statements that need the tables. */
int
pg_check_send(struct pg *pg, struct pg_conn *pc)
{
	return pg_send_sql(pg, pc, NULL,
	    "SELECT version FROM secretd.schema_version", 0, NULL, NULL,
	    NULL, PI_CHECK, NULL, 0);
}

/* The metrics' figures, and old markers dropped on the way. */
int
pg_stats_send(struct pg *pg, struct pg_conn *pc)
{
	pg->count_delta = 0;
	if (pg_send_sql(pg, pc, "count", NULL, 0, NULL, NULL, NULL,
	    PI_STATS_COUNT, NULL, 0) == -1 ||
	    pg_send_sql(pg, pc, "dbsize", NULL, 0, NULL, NULL, NULL,
	    PI_STATS_SIZE, NULL, 0) == -1 ||
	    pg_send_sql(pg, pc, "prune", NULL, 0, NULL, NULL, NULL,
	    PI_IGNORE, NULL, 0) == -1)
		return -1;
	return pg_sync(pc, &pg->stats_busy, 0);
}
