# Development bearer tokens: an HS256 signing key of the machine's own and tokens signed with it,
# in the shape dotnet user-jwts uses (issuer, audience, a base64 key). Sourced by scripts/run,
# scripts/token and the benchmarks. Never for a shared or public instance: anyone who can read the
# key can mint any token.

dev_auth_issuer=allocation-dev
dev_auth_audience=allocation
dev_auth_all_scopes="allocation:read allocation:write stock:write"

# dev_auth_key FILE: prints the base64 key kept in FILE, creating it (readable by the owner only) on first use.
dev_auth_key() {
  local file=$1
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && openssl rand -base64 32 >"$file")
  fi
  tr -d '\n' <"$file"
}

_b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# dev_token KEY "SCOPES" [LIFETIME_SECONDS]: prints a signed token for the API configured by dev_auth_env.
dev_token() {
  local key=$1 scopes=$2 lifetime=${3:-604800} now header payload hexkey signature
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | _b64url)
  payload=$(printf '{"iss":"%s","aud":"%s","sub":"%s","scope":"%s","iat":%d,"nbf":%d,"exp":%d}' \
    "$dev_auth_issuer" "$dev_auth_audience" "${USER:-developer}" "$scopes" "$now" "$now" "$((now + lifetime))" | _b64url)
  hexkey=$(printf '%s' "$key" | openssl base64 -d -A | od -An -tx1 | tr -d ' \n')
  signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | _b64url)
  printf '%s.%s.%s\n' "$header" "$payload" "$signature"
}

# dev_auth_env KEY: prints the API's settings for KEY as NAME=value lines, for env or export.
dev_auth_env() {
  printf '%s\n' \
    "Authentication__Schemes__Bearer__ValidIssuer=$dev_auth_issuer" \
    "Authentication__Schemes__Bearer__ValidAudiences__0=$dev_auth_audience" \
    "Authentication__Schemes__Bearer__SigningKeys__0__Id=dev" \
    "Authentication__Schemes__Bearer__SigningKeys__0__Issuer=$dev_auth_issuer" \
    "Authentication__Schemes__Bearer__SigningKeys__0__Value=$1" \
    "Authentication__Schemes__Bearer__SigningKeys__0__Length=32"
}

# dev_auth_configured: true when the environment already says how to authenticate (an identity
# provider, keys of its own, or Authentication__Disabled), which the scripts then leave alone.
dev_auth_configured() {
  env | grep -q '^Authentication__\(Disabled\|Schemes__Bearer__\(Authority\|MetadataAddress\|SigningKeys__\)\)'
}
