from dictad.cli import main

raise SystemExit(main())
