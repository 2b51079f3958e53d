BupdatesJ‰×”?Ð0‹?U¿LÃ
¿