/*
 * pub_migrations.h - the SQL migrations compiled into hotpatch-publisher.
 *
 * publisher/migrations/NNNN_name.sql are embedded by gen_migrations.sh in
 * version order; pub_db_migrate() applies the ones not yet recorded in
 * schema_migrations, each in its own transaction, under an advisory lock.
 */
#ifndef PUB_MIGRATIONS_H
#define PUB_MIGRATIONS_H

#include <stddef.h>

struct pub_migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct pub_migration pub_migrations[];
extern const size_t pub_n_migrations;

#endif
