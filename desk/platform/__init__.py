"""The WeChat side of desk, usable on its own: nothing here imports the rest of desk.

* :mod:`~desk.platform.crypto` — WXBizMsgCrypt: signatures and AES of callbacks (spec §8).
* :mod:`~desk.platform.events` — typed push payloads (Channels JSON, WeCom XML) with dedup keys.
* :mod:`~desk.platform.channels` / :mod:`~desk.platform.channels_types` — the WeChat Store API
  client (orders, after-sales, addresses, buyer chat) and its wire Structs.
* :mod:`~desk.platform.wecom` / :mod:`~desk.platform.wecom_types` — the WeCom client (微信客服,
  客户联系) and its wire Structs.
* :mod:`~desk.platform.tokens` — the single-flight access-token refresher and its caches.
* :mod:`~desk.platform.errors` — what the clients raise; :mod:`~desk.platform.calls` — the
  shared error-envelope and retry policy; :mod:`~desk.platform.wire` — tolerant reply decoding.

The fake platform for demo, tests and benchmarks is its own package, :mod:`desk.simulator`,
which imports this one and nothing else of desk.

Import from the modules; the package exports nothing itself.
"""
