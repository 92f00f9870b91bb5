from fastapi import FastAPI

from .routes import orders

app = FastAPI(title="shop")
app.include_router(orders.router, prefix="/api")
