"""An organisation chart: who reports to whom."""
