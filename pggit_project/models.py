"""No models: the project package has none. The module exists because Django sends post_migrate
only to apps with a models module, and pggit_project.apps applies the changed files of sql/ then."""
