from mnistx.cli import main

raise SystemExit(main())
