"""Websites: where their content comes from, domain checks, publishing and the build sandbox."""

from __future__ import annotations

from .environment import env_int, env_list, env_str

# The hosts a website's git repository may come from.
WEBSITES_GIT_HOSTS = env_list("WEBSITES_GIT_HOSTS", "github.com,gitlab.com,codeberg.org,git.blahaj.land")
# DNS servers for custom domain verification ("ip" or "ip:port"); empty: the system's.
WEBSITES_DNS_RESOLVERS = env_list("WEBSITES_DNS_RESOLVERS", "")
# A verification look-up's whole lifetime (seconds): verify-domain waits for it in the request.
WEBSITES_DNS_TIMEOUT = env_int("WEBSITES_DNS_TIMEOUT", 2)
# At most this many verify-domain look-ups at once, across every server process (through the
# cache); keep it below the number of server workers so that a lookup that hangs never holds
# them all. One look-up per site at a time.
WEBSITES_DNS_CONCURRENCY = env_int("WEBSITES_DNS_CONCURRENCY", 2)
# Labels under YUNOHOST_DOMAIN that no member may take: what a YunoHost host, its mail server and
# this service use (docs/api.md, "Input rules"). A value replaces the whole list; empty: this one.
_RESERVED_NAMES = (
    "www,accounts,portal,webadmin,admin,admins,sso,yunohost,api,backhaj,root,webmaster,postmaster,"
    "hostmaster,abuse,noreply,no-reply,security,support,status,"
    "ns,ns1,ns2,ns3,ns4,ns5,ns6,ns7,ns8,ns9,dns,mx,mail,smtp,imap,pop,pop3,submission,webmail,"
    "dmarc,dkim,spf,mta-sts,autoconfig,autodiscover,xmpp,xmpp-upload,muc,conference,pubsub,"
    "vjud,proxy,upload,ldap,git,static,media,cdn,localhost"
)
WEBSITES_RESERVED_NAMES = env_list("WEBSITES_RESERVED_NAMES", "") or _RESERVED_NAMES.split(",")
# How long a website request waits for YunoHost's `domain list` (seconds); past it the request
# goes on and the lane checks again before `domain add`.
YUNOHOST_REQUEST_TIMEOUT = env_int("YUNOHOST_REQUEST_TIMEOUT", 10)
# How long a website confirmation link works (seconds).
WEBSITES_CONFIRM_TOKEN_LIFETIME = env_int("WEBSITES_CONFIRM_TOKEN_LIFETIME", 2 * 3600)
# What the progress page tells an SFTP site's owner.
WEBSITES_SFTP_HOST = env_str("WEBSITES_SFTP_HOST", "")
WEBSITES_SFTP_PORT = env_int("WEBSITES_SFTP_PORT", 22)
# How often verified custom domains are checked again (seconds).
WEBSITES_RECHECK_INTERVAL = env_int("WEBSITES_RECHECK_INTERVAL", 6 * 3600)
# git and ssg sites: how often they are pulled (seconds), and the clone's limits.
WEBSITES_GIT_PULL_INTERVAL = env_int("WEBSITES_GIT_PULL_INTERVAL", 15 * 60)
WEBSITES_GIT_TIMEOUT = env_int("WEBSITES_GIT_TIMEOUT", 120)
WEBSITES_GIT_MAX_BYTES = env_int("WEBSITES_GIT_MAX_BYTES", 200 * 1024 * 1024)
# Publishing git and ssg sites through their own SFTP login: the server (empty: WEBSITES_SFTP_HOST,
# else YUNOHOST_DOMAIN; never a site's own domain) and, optionally, a known_hosts file that pins
# its keys; without one, the very first publish pins the key it was shown, for every site.
WEBSITES_PUBLISH_SFTP_HOST = env_str("WEBSITES_PUBLISH_SFTP_HOST", "")
WEBSITES_PUBLISH_SFTP_PORT = env_int("WEBSITES_PUBLISH_SFTP_PORT", WEBSITES_SFTP_PORT)
WEBSITES_PUBLISH_KNOWN_HOSTS = env_str("WEBSITES_PUBLISH_KNOWN_HOSTS", "")
WEBSITES_PUBLISH_TIMEOUT = env_int("WEBSITES_PUBLISH_TIMEOUT", 600)
# Static site builds, in a bubblewrap sandbox: its binary, the generator's, and the limits.
WEBSITES_BWRAP = env_str("WEBSITES_BWRAP", "bwrap")
WEBSITES_HUGO = env_str("WEBSITES_HUGO", "")
WEBSITES_BUILD_TIMEOUT = env_int("WEBSITES_BUILD_TIMEOUT", 300)
WEBSITES_BUILD_MEMORY = env_int("WEBSITES_BUILD_MEMORY", 4 * 1024 * 1024 * 1024)
WEBSITES_BUILD_PROCESSES = env_int("WEBSITES_BUILD_PROCESSES", 256)
WEBSITES_BUILD_MAX_BYTES = env_int("WEBSITES_BUILD_MAX_BYTES", 500 * 1024 * 1024)
# Where my_webapp's web roots are (/var/www on YunoHost); empty: that, or beside the emulator's state.
YUNOHOST_WEBROOT_BASE = env_str("YUNOHOST_WEBROOT_BASE", "")
