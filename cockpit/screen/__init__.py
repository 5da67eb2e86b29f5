"""The big screen (数字驾驶舱大屏), the six safety indices and the daily consultation (每日会商)."""
