"""The poster grid: virtual layout, demand plan, keyboard selection, the instanced GL renderer."""
