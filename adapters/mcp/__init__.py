"""The inbound MCP adapter: one tool per PostHog operation, plus expctl's own, for AI agents.

``build_server`` composes the server from a client and a lifecycle service; ``serve`` is what
``expctl serve mcp`` runs. Tools are specs (:mod:`adapters.mcp.tools`) with generated arguments
(:mod:`adapters.mcp.arguments`); failures become tool errors in one place
(:mod:`adapters.mcp.errors`); callers come from bearer tokens (:mod:`adapters.mcp.access`).
"""
