"""agents: the roles, the loop, the LLM gateway and the embedded local models."""
