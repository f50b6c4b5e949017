# Authentication for the benchmarks, so that their figures include its cost: a throwaway signing key,
# the API's settings for it (bench_auth_env, for env) and a token with every scope in TOKEN, which
# bench/*.lua send. BENCH_AUTH=disabled runs the API with Authentication__Disabled=true and no token
# instead, to measure what authentication costs.
. "$(dirname "${BASH_SOURCE[0]}")/dev-auth.sh"

if [ "${BENCH_AUTH:-token}" = disabled ]; then
  bench_auth_env=(Authentication__Disabled=true)
  bench_auth_curl=()
  export TOKEN=
else
  bench_auth_key=$(openssl rand -base64 32)
  mapfile -t bench_auth_env < <(dev_auth_env "$bench_auth_key")
  TOKEN=$(dev_token "$bench_auth_key" "$dev_auth_all_scopes" 86400)
  export TOKEN
  bench_auth_curl=(-H "Authorization: Bearer $TOKEN")
fi
