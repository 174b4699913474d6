"""HTTP API and the trader's workspace (served by ``ghostcandle serve``)."""
