"""Stand-in for MISW4202's monitor service; left unchanged by the benchmark."""

SERVICE = "m-monitor"
