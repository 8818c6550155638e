"""boardsync: a complete, verified daily history of Eastmoney board membership."""
