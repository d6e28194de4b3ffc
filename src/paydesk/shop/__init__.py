"""A minimal demo storefront: places orders paid with Amazon Pay through the offline sandbox,
the way a real checkout creates them (Amazon's widget makes the order reference; the store
sets its details, confirms it and authorizes)."""
