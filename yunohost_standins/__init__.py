"""Stand-ins for what a YunoHost server has beside its CLI and API, for tests and development.

Each stands on its own and imports nothing of the project (nor of the emulator, which imports
two of them):

* ``sftp``: the sshd of the my_webapp sites' SFTP logins (``python -m yunohost_standins.sftp``),
  reading the emulator's state file; needs asyncssh.
* ``acme``: Let's Encrypt's HTTP-01 validation and its failure limit, as the emulator's
  ``domain cert install`` meets them (standard library only).
* ``slapd``: a private slapd shaped like YunoHost's directory (``PrivateSlapd``; needs ldap3
  and Debian's slapd), and ``ldap_mirror``: the emulator's users written into it as YunoHost
  writes its own (standard library only, Debian's ldapmodify).
"""
