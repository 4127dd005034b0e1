from lvstui.cli import main

raise SystemExit(main())
