"""sandbox: isolated runs on a view of the workspace (bubblewrap, Docker engine, plain process) and the pytest runner."""
