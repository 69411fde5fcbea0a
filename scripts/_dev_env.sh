# Shared by scripts/dev and scripts/manage: the development service's environment (the embedded
# defaults: SQLite, in-process tasks, the YunoHost emulator, emails on the console), so that a
# management command sees exactly what the running service sees. Starts nothing.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
# Links in the emails printed on the console point at this server.
export SITE_URL="${SITE_URL:-http://localhost:$PORT}"
DATA="${BLAHAJ_DATA_DIR:-$ROOT/data}"
export YUNOHOST_EMULATOR_STATE="${YUNOHOST_EMULATOR_STATE:-$DATA/yunohost-emulator.json}"
mkdir -p "$DATA"

# git and ssg sites publish through their SFTP login: the emulator's SFTP door on the same state
# file, on 127.0.0.1:$WEBSITES_PUBLISH_SFTP_PORT (scripts/dev starts it when no host is given).
SFTP_DOOR=false
if [ -z "${WEBSITES_PUBLISH_SFTP_HOST:-}" ]; then
  SFTP_DOOR=true
  export WEBSITES_PUBLISH_SFTP_HOST=127.0.0.1 WEBSITES_PUBLISH_SFTP_PORT="${WEBSITES_PUBLISH_SFTP_PORT:-2222}"
fi

# YUNOHOST_BACKEND=api without YUNOHOST_API_URL: the emulator's HTTP API on the same state file,
# on 127.0.0.1:$YUNOHOST_EMULATOR_PORT (plain HTTP: a development stand-in, never a real server;
# scripts/dev starts it).
API_EMULATOR=false
if [ "${YUNOHOST_BACKEND:-cli}" = api ] && [ -z "${YUNOHOST_API_URL:-}" ]; then
  API_EMULATOR=true
  api_port="${YUNOHOST_EMULATOR_PORT:-6787}"
  export YUNOHOST_EMULATOR_API_PASSWORD="${YUNOHOST_EMULATOR_API_PASSWORD:-dev-Admin-passw0rd}"
  export YUNOHOST_API_URL="http://127.0.0.1:$api_port/yunohost/api"
  export YUNOHOST_API_PASSWORD="admin:$YUNOHOST_EMULATOR_API_PASSWORD"
fi
