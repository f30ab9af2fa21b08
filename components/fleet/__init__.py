"""A site's fleet of cluster stacks: which stack deploys which cluster, what a change touches,
and running many stacks at once with Pulumi's Automation API (`runner`)."""
