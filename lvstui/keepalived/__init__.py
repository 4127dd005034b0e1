"""keepalived support, plain Python (no Textual).

Configuration (lossless):
  :func:`loader.load` reads keepalived.conf and its includes into a
  :class:`loader.KeepalivedConfig` of :class:`syntax.ConfigFile` trees that write
  back byte for byte; :func:`view.build_view` gives the meaning (virtual servers,
  real servers and checkers, VRRP instances, sync groups, scripts, track files) as
  frozen dataclasses that remember file and line; :mod:`edit` changes only the
  lines concerned (this package only reads: :func:`lvstui.ops.files.write_config` writes
  the result, all or nothing, through symlinks, with backups in lvstui's state directory,
  refusing a file changed on disk); :func:`validate.keepalived_test` runs
  ``keepalived -t`` on the configuration as edited in memory.

Runtime:
  :mod:`runtime` parses the notify FIFO lines and the DATA/JSON dumps;
  :mod:`processes` finds running keepalived processes, their roles and namespaces,
  and resolves signal numbers.

Errors are :class:`errors.KeepalivedConfigError` with a ``file:line: reason`` message.
"""
