from handgen.cli import main

raise SystemExit(main())
