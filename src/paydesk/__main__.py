from paydesk.cli import main

raise SystemExit(main())
