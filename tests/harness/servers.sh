# servers.sh - start/stop the real servers the integration tests use.
# Sourced by tests/run.sh; also usable by hand:
#   . tests/harness/servers.sh; servers_start; ...; servers_stop
# Exports on success:
#   HP_TEST_PG_URL        postgres://postgres@127.0.0.1:PORT/postgres (throwaway cluster)
#   HP_TEST_S3_ENDPOINT   http://127.0.0.1:PORT (Ceph radosgw, real SigV4)
#   HP_TEST_S3_REGION HP_TEST_S3_ACCESS_KEY HP_TEST_S3_SECRET_KEY HP_TEST_S3_BUCKET
_hp_harness_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_hp_harness_dir/pg.sh"
. "$_hp_harness_dir/rgw.sh"

servers_start() {
    local t0=$SECONDS
    pg_start || return 1
    rgw_start || { pg_stop; return 1; }
    echo "# servers up in $((SECONDS - t0))s: pg=$HP_TEST_PG_URL s3=$HP_TEST_S3_ENDPOINT"
}

servers_stop() {
    rgw_stop
    pg_stop
}
