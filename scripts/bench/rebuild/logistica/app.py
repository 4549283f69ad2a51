"""Stand-in for MISW4202's logistics/inventory service: the benchmark edits
this file (appending a comment) to change the build context."""

SERVICE = "m-logistica-inventario"
